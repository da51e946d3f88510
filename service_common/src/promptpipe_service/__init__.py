"""What the Python services of the stack (the agent, the mock) share: see the modules."""
