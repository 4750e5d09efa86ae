# Sourced by build.sh: what each fixture image is. A fixture belongs to a set; a set is one
# Debian root file system (its packages, its files from this directory, its tweaks), imported
# once as a base image; each fixture is config lines committed on its set's base.
# Needs $suite and $here.

std_path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

set_of() {
  case $1 in
    postgres | redis | mariadb | mysql) echo main ;;
    *) echo extra ;;
  esac
}

# Packages of each set's root file system (minbase adds only Essential + apt; perl-base is
# Essential, which the look-alikes use).
packages_of() {
  case $1 in
    main) echo postgresql-15,redis-server,mariadb-server ;;
    extra) echo memcached,rabbitmq-server,nats-server ;;
  esac
}

# Changing a set's packages or its tweaks in build.sh? Bump its version here.
recipe_of() {
  case $1 in
    main) echo "v1 $suite minbase $(packages_of main)" ;;
    extra) echo "extra-v1 $suite minbase $(packages_of extra)" ;;
  esac
}

rootfs_dir_of() {
  case $1 in
    main) echo "$cache/rootfs" ;;
    *) echo "$cache/rootfs-$1" ;;
  esac
}

base_tag_of() {
  case $1 in
    main) echo "devenv-fixture/base:$suite" ;;
    *) echo "devenv-fixture/base-$1:$suite" ;;
  esac
}

# Files of this directory that each set's root file system carries.
files_of() {
  case $1 in
    main) echo postgres-entrypoint.sh redis-entrypoint.sh mariadb-entrypoint.sh mariadb-healthcheck.sh ;;
    extra) echo rabbitmq-entrypoint.sh lookalike.pl lookalike-client.sh ;;
  esac
}

install_files() { # SET DIR
  local bin="$2/usr/local/bin"
  case $1 in
    main)
      install -m 0755 "$here/postgres-entrypoint.sh" "$bin/docker-entrypoint-postgres.sh"
      install -m 0755 "$here/redis-entrypoint.sh" "$bin/docker-entrypoint-redis.sh"
      install -m 0755 "$here/mariadb-entrypoint.sh" "$bin/docker-entrypoint-mariadb.sh"
      install -m 0755 "$here/mariadb-healthcheck.sh" "$bin/healthcheck.sh"
      ;;
    extra)
      install -m 0755 "$here/rabbitmq-entrypoint.sh" "$bin/docker-entrypoint-rabbitmq.sh"
      install -m 0755 "$here/lookalike.pl" "$bin/lookalike"
      install -m 0755 "$here/lookalike-client.sh" "$bin/mongosh"
      install -m 0755 "$here/lookalike-client.sh" "$bin/rpk"
      # A fixed Erlang cookie owned by rabbitmq before the first start: a health command
      # run as root (`docker exec`) would otherwise create it first, unreadable for the server.
      printf 'DEVENVFIXTURECOOKIE' >"$2/var/lib/rabbitmq/.erlang.cookie"
      chroot "$2" chown rabbitmq:rabbitmq /var/lib/rabbitmq/.erlang.cookie
      chmod 0400 "$2/var/lib/rabbitmq/.erlang.cookie"
      ;;
  esac
}

tag_for() {
  case $1 in
    postgres) echo devenv-fixture/postgres:16 ;;
    redis) echo devenv-fixture/redis:7 ;;
    mariadb) echo devenv-fixture/mariadb:11 ;;
    mysql) echo devenv-fixture/mysql:8.4 ;;
    memcached) echo devenv-fixture/memcached:1.6 ;;
    rabbitmq) echo devenv-fixture/rabbitmq:3-management ;;
    nats) echo devenv-fixture/nats:2 ;;
    mongo) echo devenv-fixture/mongo:7 ;;
    redpanda) echo devenv-fixture/redpanda:v24.2.7 ;;
    minio) echo devenv-fixture/minio:latest ;;
    mailpit) echo devenv-fixture/mailpit:v1.21 ;;
  esac
}

# A look-alike server (lookalike.pl): NAME and PORT/KIND...; a stack's command lands after --.
lookalike() { # NAME VOLUME PORT/KIND...
  local name=$1 volume=$2 ports=() entry='"/usr/local/bin/lookalike"' spec
  shift 2
  entry+=", \"$name\""
  for spec in "$@"; do
    entry+=", \"$spec\""
    ports+=("${spec%/*}")
  done
  cat <<EOF
ENV PATH=$std_path LANG=C.UTF-8
VOLUME $volume
ENTRYPOINT [$entry, "--"]
EXPOSE ${ports[*]}
EOF
}

# Config of each fixture: Dockerfile-style lines applied to its set's base image.
dockerfile_for() {
  case $1 in
    postgres)
      cat <<EOF
ENV PATH=/usr/lib/postgresql/15/bin:$std_path LANG=C.UTF-8 PGDATA=/var/lib/postgresql/data
VOLUME /var/lib/postgresql/data
ENTRYPOINT ["/usr/local/bin/docker-entrypoint-postgres.sh"]
# Fast shutdown on docker stop, as in the official image.
STOPSIGNAL SIGINT
EXPOSE 5432
CMD ["postgres"]
EOF
      ;;
    redis)
      cat <<EOF
ENV PATH=$std_path LANG=C.UTF-8
VOLUME /data
WORKDIR /data
ENTRYPOINT ["/usr/local/bin/docker-entrypoint-redis.sh"]
EXPOSE 6379
CMD ["redis-server"]
EOF
      ;;
    mariadb | mysql)
      local server=mariadbd
      [[ $1 == mariadb ]] || server=mysqld
      cat <<EOF
ENV PATH=$std_path LANG=C.UTF-8
VOLUME /var/lib/mysql
ENTRYPOINT ["/usr/local/bin/docker-entrypoint-mariadb.sh"]
EXPOSE 3306
CMD ["$server"]
EOF
      ;;
    memcached)
      cat <<EOF
ENV PATH=$std_path LANG=C.UTF-8
USER memcache
ENTRYPOINT ["memcached"]
EXPOSE 11211
EOF
      ;;
    rabbitmq)
      cat <<EOF
ENV PATH=/usr/lib/rabbitmq/bin:$std_path LANG=C.UTF-8 HOME=/var/lib/rabbitmq RABBITMQ_LOGS=-
VOLUME /var/lib/rabbitmq
ENTRYPOINT ["/usr/local/bin/docker-entrypoint-rabbitmq.sh"]
EXPOSE 5672 15672
CMD ["rabbitmq-server"]
EOF
      ;;
    nats)
      cat <<EOF
ENV PATH=$std_path LANG=C.UTF-8
ENTRYPOINT ["nats-server"]
EXPOSE 4222 6222 8222
EOF
      ;;
    mongo) lookalike mongo /data/db 27017/tcp ;;
    redpanda) lookalike redpanda /var/lib/redpanda/data 9092/tcp 9644/http ;;
    minio) lookalike minio /data 9000/http 9001/http ;;
    mailpit) lookalike mailpit /data 1025/smtp 8025/http ;;
  esac
}
