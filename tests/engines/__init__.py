"""Engines that live only in the tests: proof that an engine is one package the rest of the stack handles."""
