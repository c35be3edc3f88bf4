import Arbiter
import Posix

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The few messages of etcd's v3 JSON gateway the arbiter sends and reads (etcd's `rpc.proto`, in the gateway's
/// JSON: field names as in the proto, 64-bit integers as strings, bytes as base64, enums by name).
///
/// Every field of a response is optional because the gateway omits default values: a failed transaction has no
/// `succeeded`, an empty range no `kvs`. Field names are the proto's, hence snake case.
enum EtcdJSON {
    struct RangeRequest: Encodable {
        var key: String
        var range_end: String
        var limit: String
        var sort_order: String
        var sort_target: String
    }

    struct PutRequest: Encodable {
        var key: String
        var value: String
    }

    struct Compare: Encodable {
        var result: String
        var target: String
        var key: String
        var range_end: String
        var create_revision: String
    }

    struct RequestOp: Encodable {
        var request_put: PutRequest?
        var request_range: RangeRequest?

        init(request_put: PutRequest) { self.request_put = request_put }
        init(request_range: RangeRequest) { self.request_range = request_range }
    }

    struct TransactionRequest: Encodable {
        var compare: [Compare]
        var success: [RequestOp]
        var failure: [RequestOp]
    }

    struct KeyValue: Decodable {
        var key: String?
        var value: String?
    }

    struct RangeResponse: Decodable {
        var kvs: [KeyValue]?
    }

    struct ResponseOp: Decodable {
        var response_range: RangeResponse?
    }

    struct TransactionResponse: Decodable {
        var succeeded: Bool?
        var responses: [ResponseOp]?
    }

    static func encode<Message: Encodable>(_ message: Message) -> [UInt8] {
        do {
            return Array(try JSONEncoder().encode(message))
        } catch {
            // Strings and arrays of our own structs always encode; failing here is a bug of ours.
            preconditionFailure("cannot encode an etcd request: \(error)")
        }
    }

    static func decode<Message: Decodable>(
        _ type: Message.Type, _ body: [UInt8], from endpoint: SocketAddress
    ) throws(ArbiterError) -> Message {
        do {
            return try JSONDecoder().decode(type, from: Data(body))
        } catch {
            throw .badResponse(
                endpoint: "\(endpoint)", reason: "not the expected JSON \(EtcdHTTPClient.excerpt(body))")
        }
    }

    static func base64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }

    static func bytes(base64 text: String) -> [UInt8]? { Data(base64Encoded: text).map { Array($0) } }
}
