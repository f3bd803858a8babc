"""Scheduler plugins, one module each: a name, its reason strings, pure functions, a small class.

Each module mirrors one directory of pkg/scheduler/framework/plugins/ upstream.
"""
