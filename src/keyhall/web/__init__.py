"""HTTP adapter: routes translate requests into use-case calls and render the results."""
