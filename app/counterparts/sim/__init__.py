"""The line simulator: the server side that the demo and the tests run against."""
