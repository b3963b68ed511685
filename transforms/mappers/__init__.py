"""One mapper module per captured source table (``transforms.registry.MAPPERS`` lists them)."""
