"""Writes of platform mode: one function per business action, each in one transaction."""
