//! The `conferenceli` binary: parses settings, starts logging, runs the subcommand.

use conferenceli::config::{self, Command};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = config::parse_or_exit();
    conferenceli::http::install_crypto_provider();
    conferenceli::telemetry::init(&cli.log);
    let result = match cli.command {
        Command::Crd(args) => conferenceli::commands::crd(args),
        command => {
            let runtime = match tokio::runtime::Runtime::new() {
                Ok(runtime) => runtime,
                Err(error) => {
                    eprintln!("conferenceli: cannot start the async runtime: {error}");
                    return ExitCode::FAILURE;
                }
            };
            runtime.block_on(async move {
                match command {
                    Command::Run(args) => conferenceli::commands::run(args).await,
                    Command::Demo(args) => conferenceli::commands::demo(args).await,
                    Command::Sim(args) => conferenceli::commands::sim(args).await,
                    Command::Check(args) => conferenceli::commands::check(args).await,
                    Command::Blinkt(args) => conferenceli::commands::blinkt(args).await,
                    Command::Label(args) => conferenceli::commands::label(args).await,
                    Command::Workload(args) => conferenceli::commands::workload(args).await,
                    Command::Crd(_) => unreachable!("handled above"),
                }
            })
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("conferenceli: {error}");
            ExitCode::FAILURE
        }
    }
}
