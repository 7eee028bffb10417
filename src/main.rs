use clap::Parser;

fn main() -> std::process::ExitCode {
    latchkey::cli::run(latchkey::cli::Cli::parse())
}
