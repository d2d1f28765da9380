-- Connect per query: each event opens a connection, runs one point select and quits, the
-- way PHP, serverless functions and cron scripts use a database. sysbench's events per
-- second are connections per second.
sysbench.cmdline.options = {
  tables = {"Number of tables", 4},
  table_size = {"Rows per table", 100000},
}

function thread_init()
  drv = sysbench.sql.driver()
end

function event()
  local con = drv:connect()
  con:query(string.format("SELECT c FROM sbtest%d WHERE id = %d",
    sysbench.rand.uniform(1, sysbench.opt.tables),
    sysbench.rand.uniform(1, sysbench.opt.table_size)))
  con:disconnect()
end
