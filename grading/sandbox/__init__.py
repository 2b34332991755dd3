"""Code that runs next to student code, inside the sandbox. It never sees expected values."""
