"""DynamoDB persistence: ``schema`` declares every table, one module per aggregate holds its
repository, ``store`` composes them into the store the services' ports see."""
