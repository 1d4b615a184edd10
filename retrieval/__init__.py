"""Search and recommendation over the knowledge base: typed requests in, typed records out."""
