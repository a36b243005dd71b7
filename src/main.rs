//! The `breachline` command.

fn main() -> std::process::ExitCode {
    breachline::cli::main()
}
