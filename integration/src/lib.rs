//! Test harness: starts real `redraft` processes and stops them on drop.
