public enum KeyValuePlaceholder {}
