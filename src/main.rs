use clap::Parser;

fn main() -> std::process::ExitCode {
    match latchkey::cli::Cli::try_parse() {
        Ok(cli) => latchkey::cli::run(cli),
        Err(e) => latchkey::cli::usage_error(e),
    }
}
