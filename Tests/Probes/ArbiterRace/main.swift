print("arbiter-race: not yet")
