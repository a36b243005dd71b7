//! The `breachline` command.

/// mimalloc: bulk imports allocate on a parser thread and free on the
/// writer thread, which serialises glibc's allocator (measured in
/// `breachline bench subjects`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    breachline::cli::main()
}
