//! The `stockroute` binary: a shim over [`stockroute::cli`].

// Requests allocate many small short-lived objects (GraphQL values, JSON);
// mimalloc serves them faster than glibc's malloc under concurrency. The
// `system-allocator` feature keeps the C allocator, for tools that count
// what goes through it (benches/allocations.sh).
#[cfg(not(feature = "system-allocator"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    stockroute::cli::main()
}
