# The data tier of a platform (seeds 001, 002, 004): a `fast-ssd`
# StorageClass made with the cluster, PostgreSQL as a StatefulSet with a
# 100Gi claim per pod on it, a nightly backup CronJob, Redis and RabbitMQ
# with claims of their own, a one-off migration Job the apply waits on, a
# frontend whose init container waits for the API, and a GPU inference
# server (Autopilot provisions the GPU node it asks for).
terraform {
  required_providers {
    genesis = { source = "genesis-platform/genesis" }
  }
}

provider "genesis" {}

resource "genesis_cluster" "main" {
  project_id  = "genesis-project-dev"
  region      = "us-central1"
  environment = "staging"
  name        = "genesis-data"

  enable_autopilot      = true
  kubernetes_namespaces = ["data", "web", "inference"]

  # Volumes name these in storage_class; claims that name none get GKE's
  # standard-rwo.
  storage_classes = {
    fast-ssd = { type = "pd-ssd" }
  }
}

resource "genesis_workload" "postgres" {
  cluster   = genesis_cluster.main.id
  namespace = "data"
  name      = "postgres"
  kind      = "StatefulSet"
  image     = "postgres:17.5"
  replicas  = 1

  ports = [{ name = "postgres", container_port = 5432 }]
  env   = { PGDATA = "/var/lib/postgresql/data/pgdata" }

  secret_env = {
    POSTGRES_PASSWORD = { secret = "postgres", key = "password" }
  }

  resources = {
    requests = { cpu = "1", memory = "2Gi" }
    limits   = { memory = "4Gi" }
  }

  # A claim per pod, kept when the workload goes (volume_retention).
  volumes = {
    data = { size = "100Gi", storage_class = "fast-ssd", mount_path = "/var/lib/postgresql/data" }
    run  = { empty_dir = { memory = true }, mount_path = "/var/run/postgresql" }
  }

  readiness_probe  = { exec = { command = ["pg_isready", "-U", "postgres"] }, period_seconds = 5 }
  security_context = { run_as_user = 999, fs_group = 999 }
}

resource "genesis_workload" "backup" {
  cluster   = genesis_cluster.main.id
  namespace = "data"
  name      = "postgres-backup"
  kind      = "CronJob"
  image     = "postgres:17.5"
  command   = ["/bin/sh", "-c", "pg_dumpall -h postgres-0.postgres > /backups/$(date +%F).sql"]

  cron = {
    schedule  = "0 2 * * *"
    time_zone = "Europe/Paris"
  }
  job = { backoff_limit = 2, active_deadline_seconds = 7200 }

  secret_env = {
    PGPASSWORD = { secret = "postgres", key = "password" }
  }
  # A 500Gi claim of its own (postgres-backup-backups), kept with its
  # backups if the CronJob is ever destroyed.
  volumes = {
    backups = { size = "500Gi", storage_class = "fast-ssd", mount_path = "/backups" }
  }
  security_context = { run_as_user = 999 }
}

resource "genesis_workload" "redis" {
  cluster   = genesis_cluster.main.id
  namespace = "data"
  name      = "redis"
  kind      = "StatefulSet"
  image     = "redis:8.0"
  args      = ["--appendonly", "yes"]
  replicas  = 1
  ports     = [{ name = "redis", container_port = 6379 }]
  volumes = {
    data = { size = "10Gi", storage_class = "fast-ssd", mount_path = "/data" }
  }
  security_context = { run_as_user = 999 }
}

resource "genesis_workload" "rabbitmq" {
  cluster   = genesis_cluster.main.id
  namespace = "data"
  name      = "rabbitmq"
  kind      = "StatefulSet"
  image     = "rabbitmq:4.1-management"
  replicas  = 3
  ports = [
    { name = "amqp", container_port = 5672 },
    { name = "management", container_port = 15672 },
  ]
  # Members start together and find each other by their stable names
  # (rabbitmq-0.rabbitmq, ...) through the headless Service.
  pod_management_policy = "Parallel"
  volumes = {
    data = { size = "20Gi", storage_class = "fast-ssd", mount_path = "/var/lib/rabbitmq" }
  }
  resources = {
    requests = { cpu = "500m", memory = "1Gi" }
    limits   = { memory = "2Gi" }
  }
  security_context = { run_as_user = 999, fs_group = 999 }
}

resource "genesis_workload" "migrate" {
  cluster   = genesis_cluster.main.id
  namespace = "data"
  name      = "migrate"
  kind      = "Job"
  image     = "us-central1-docker.pkg.dev/genesis-project-dev/api/api:1.2.3"
  args      = ["migrate", "up"]
  job       = { backoff_limit = 3 }

  depends_on = [genesis_workload.postgres]
}

resource "genesis_workload" "frontend" {
  cluster   = genesis_cluster.main.id
  namespace = "web"
  name      = "frontend"
  image     = "us-central1-docker.pkg.dev/genesis-project-dev/web/frontend:2.0.0"
  replicas  = 2
  ports     = [{ name = "http", container_port = 3000 }]

  init_containers = [{
    name    = "wait-for-api"
    image   = "busybox:1.37"
    command = ["sh", "-c", "until nc -z api.apps 80; do sleep 2; done"]
  }]

  service = { ports = [{ port = 80, target_port = 3000 }] }
}

resource "genesis_workload" "inference" {
  cluster   = genesis_cluster.main.id
  namespace = "inference"
  name      = "llm"
  image     = "us-central1-docker.pkg.dev/genesis-project-dev/ai/llm-server:0.9.0"
  replicas  = 1
  ports     = [{ name = "http", container_port = 8000 }]

  # One GPU, never overcommitted; the GPU nodes' taint is tolerated.
  resources = {
    requests = { cpu = "4", memory = "16Gi", extended = { "nvidia.com/gpu" = "1" } }
    limits   = { memory = "16Gi", extended = { "nvidia.com/gpu" = "1" } }
  }
  node_selector = { "cloud.google.com/gke-accelerator" = "nvidia-l4" }

  volumes = {
    models = { empty_dir = { size_limit = "50Gi" }, mount_path = "/models" }
  }
  readiness_probe = { http_get = { path = "/health", port = 8000 }, initial_delay_seconds = 30 }
}
