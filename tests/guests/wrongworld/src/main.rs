//! A WASI command: a valid component, but not a Grafana plugin.

fn main() {
    println!("not a grafana plugin");
}
