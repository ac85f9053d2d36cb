//! Linker setup for a Node addon (napi-build: `-undefined dynamic_lookup` on macOS).
fn main() {
    napi_build::setup();
}
