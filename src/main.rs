//! The `stockroute` binary: a shim over [`stockroute::cli`].

// mimalloc (see `stockroute::allocator` for how it is asked). The
// `system-allocator` feature keeps the C allocator, for tools that count
// what goes through it (benches/allocations.sh).
#[cfg(not(feature = "system-allocator"))]
#[global_allocator]
static ALLOCATOR: stockroute::allocator::MiMalloc = stockroute::allocator::MiMalloc;

fn main() -> std::process::ExitCode {
    stockroute::cli::main()
}
