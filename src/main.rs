// Stand-in until the real CLI is merged: only `traveler station ...`.
use clap::Parser;

#[derive(Parser)]
#[command(name = "traveler")]
enum Cli {
    #[command(subcommand)]
    Station(traveler::cli::station::StationCommand),
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let Cli::Station(cmd) = Cli::parse();
    match traveler::cli::station::run(cmd) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("{e:#}");
            std::process::exit(1);
        }
    }
}
