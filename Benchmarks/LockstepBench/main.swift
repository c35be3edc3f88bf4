print("lockstep-bench: not yet")
