//! Code generated from `proto/bus.proto` by `build.rs`.

#![allow(missing_docs, clippy::all, clippy::pedantic)]

tonic::include_proto!("redraft.bus");
