// Deployment library.
