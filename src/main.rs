//! The `stockroute` binary: a shim over [`stockroute::cli`].

fn main() -> std::process::ExitCode {
    stockroute::cli::main()
}
