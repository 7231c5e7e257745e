"""Dev-only tooling: the local stack (engines, HTTP adapter, invoke), never deployed."""
