"""Everything that speaks Cypher: the driver, the schema and one named function per statement."""
