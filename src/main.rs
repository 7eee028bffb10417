use clap::Parser;

/// mimalloc instead of glibc's malloc: a page render allocates a lot of small strings,
/// and glibc's allocator was 15% of the server's CPU under load (`benches/bench.sh`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    match latchkey::cli::Cli::try_parse() {
        Ok(cli) => latchkey::cli::run(cli),
        Err(e) => latchkey::cli::usage_error(e),
    }
}
