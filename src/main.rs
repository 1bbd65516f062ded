//! The `stockroute` binary: a shim over [`stockroute::cli`].

// Requests allocate many small short-lived objects (GraphQL values, JSON);
// mimalloc serves them faster than glibc's malloc under concurrency.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    stockroute::cli::main()
}
