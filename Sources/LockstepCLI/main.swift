print("lockstep: not yet")
