//! botctl: thin entry point; the program is `botctl::main`.

fn main() {
    std::process::exit(botctl::main());
}
