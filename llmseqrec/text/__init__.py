"""Item-text embeddings and dimensionality reduction."""
