use std::process::ExitCode;

use clap::Parser;
use redraft::config::Config;
use redraft::node::Node;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let config = Config::parse();
    if let Some(redraft::config::Command::Drain {
        node,
        via,
        timeout_secs,
    }) = &config.command
    {
        let timeout = std::time::Duration::from_secs(*timeout_secs);
        return match redraft::admin::drain(*via, node, timeout) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("redraft drain: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if let Some(redraft::config::Command::Certs { out, nodes }) = &config.command {
        let nodes = if nodes.is_empty() {
            (1..=3)
                .map(|i| {
                    (
                        format!("node{i}"),
                        vec![std::net::IpAddr::from([127, 0, 0, 1])],
                    )
                })
                .collect()
        } else {
            nodes.clone()
        };
        return match redraft::certs::generate(out, &nodes) {
            Ok(()) => {
                println!(
                    "wrote the cluster CA and {} node certificates to {}",
                    nodes.len(),
                    out.display()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("redraft certs: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&config.log));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("redraft: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("redraft: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: Config) -> std::io::Result<()> {
    let addr = std::net::SocketAddr::new(config.bind, config.port);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    if let Some(addr) = config.metrics_addr {
        metrics_exporter_prometheus::PrometheusBuilder::new()
            .with_http_listener(addr)
            .install()
            .map_err(|e| std::io::Error::other(format!("metrics endpoint {addr}: {e}")))?;
    }
    let joined_map = match config.join {
        Some(seed) => join(&config, seed).await?,
        None => None,
    };
    let node = Node::open_with_map(config, joined_map)?;
    let bus = redraft::bus::start(&node).await?;
    let _membership = bus
        .is_some()
        .then(|| redraft::membership::spawn(node.clone()));
    // Active expiry: proposes deletions of expired keys on the led shards.
    let _sweeper = redraft::expire::spawn(node.clone());
    tracing::info!(node_id = %node.node_id, %addr, engine = node.engine.name(), "redraft ready to accept connections");
    tokio::select! {
        r = redraft::server::run(node.clone(), listener) => r?,
        _ = tokio::signal::ctrl_c() => tracing::info!("shutting down"),
        _ = sigterm() => tracing::info!("SIGTERM: shutting down"),
        _ = node.shutdown_requested() => tracing::info!("SHUTDOWN: shutting down"),
    }
    node.shutdown();
    Ok(())
}

/// `--join`: asks the cluster for an id the first time (a restart keeps
/// the one it was given) and returns the map that includes this node.
async fn join(
    config: &Config,
    seed: std::net::SocketAddr,
) -> std::io::Result<Option<redraft_cluster::meta::ClusterMap>> {
    if redraft::node::joined_id(&config.dir)?.is_some() {
        return Ok(None);
    }
    if config.dir.join("raft").exists() {
        return Err(std::io::Error::other(format!(
            "--join: the data folder {} holds a node of another cluster; use an empty folder",
            config.dir.display()
        )));
    }
    let (id, map) = redraft::membership::join_cluster(config, seed).await?;
    redraft::node::save_joined_id(&config.dir, id)?;
    tracing::info!(node = id, epoch = map.epoch, %seed, "joined the cluster");
    Ok(Some(map))
}

async fn sigterm() {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut s) => {
            s.recv().await;
        }
        Err(_) => std::future::pending().await,
    }
}
