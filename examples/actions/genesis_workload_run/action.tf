resource "genesis_workload" "backup" {
  cluster   = genesis_cluster.prod.id
  namespace = "apps"
  name      = "backup"
  kind      = "CronJob"
  image     = "postgres:17.5"
  command   = ["/bin/sh", "-c", "pg_dump -h db -U app app > /backups/app.sql"]
  cron = {
    schedule = "0 3 * * *"
  }
}

# terraform apply -invoke=action.genesis_workload_run.backup
action "genesis_workload_run" "backup" {
  config {
    cluster   = genesis_cluster.prod.id
    namespace = "apps"
    name      = genesis_workload.backup.name
    timeout   = "30m"
  }
}
