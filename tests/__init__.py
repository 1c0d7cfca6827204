"""The emocause test suite (a package, so benchmarks can import its fakes)."""
