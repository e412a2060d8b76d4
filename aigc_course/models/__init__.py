"""Model families of the course, one module each."""
