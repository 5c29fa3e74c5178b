"""In-memory stand-ins for the services' ports, one module per adapter they stand for."""
