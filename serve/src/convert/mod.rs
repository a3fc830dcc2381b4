//! The single conversion layer between Grafana's protobuf messages and the
//! WIT contract's types, in the manner of grafana-plugin-sdk-go's
//! `convert_from_protobuf.go` / `convert_to_protobuf.go`: one function per
//! message, named after it. This is the only code that knows both type
//! systems. Conversions move data; they never copy payload bytes.

pub mod from_proto;
pub mod to_proto;

#[cfg(test)]
mod tests;
