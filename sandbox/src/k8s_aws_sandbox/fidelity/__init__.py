"""The emulator's fidelity layer: AWS's timing, validation, faults, call log and crash hooks.

`middleware.FidelityMiddleware` wraps the emulator's WSGI app (see docs/testing.md);
`control.FidelityControl` is the client of its control API. This package module imports
nothing, so the client can be used without the emulator's dependencies.
"""
