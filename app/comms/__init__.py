"""Links to the server pair: TCP for state and commands, UDP for train status."""
