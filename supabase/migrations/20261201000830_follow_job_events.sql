-- supajobs: following history without missing an event (the admin stream, /api/v1/stream).
--
-- An event's id is drawn when its row is inserted, but the row shows only at commit: a
-- transaction that commits late adds an id below ids a follower has already seen, and a follower
-- that asks only for ids above the highest it saw never gets it. follow_job_events keeps, in its
-- cursor, the gaps below that id (ids not seen yet) and looks into them again until every
-- transaction that could still fill them has ended; then they are rolled back or unused ids.

-- The ids strictly between lo and hi that are not in ids, as ranges.
create function public.job_event_gaps(ids bigint[], lo bigint, hi bigint)
returns table (gap_from bigint, gap_to bigint)
language sql
immutable
set search_path = ''
as $$
  select p.prev + 1, p.id - 1
  from (select b.id, lag(b.id) over (order by b.id) as prev
        from (select lo as id
              union all select i from unnest(ids) i where i > lo and i < hi
              union all select hi) b) p
  where p.id - p.prev > 1
$$;

-- One look: the events committed since the cursor (late ones first, then new ones in id order, at
-- most max_rows new), and the next cursor; "more" says another look would find more at once.
-- cursor null starts from now (nothing delivered; transactions under way among the last 1,000 ids
-- are followed). The cursor is {"after": the highest id seen, "gaps": [[from, to, xid], ...]}:
-- a gap can be filled only by a transaction whose xid is below its xid, so it is dropped once
-- the oldest transaction still running is not below it. A transaction that runs for long holds
-- gaps that long (at most 1,000 ranges are kept, the newest). Draws a transaction id only when it
-- finds a new gap, and must not run in a transaction that has already written (its xid would be
-- too old to bound the gaps).
create function public.follow_job_events(cursor jsonb default null, max_rows integer default 500)
returns jsonb
language plpgsql
volatile
-- As owner: the identity sequence of job_events is not service_role's to read.
security definer
set search_path = ''
-- Look-ups of a few rows: JIT compilation (seconds on a busy machine) never pays here.
set jit = off
as $$
declare
  -- Every transaction with an xid below this one has ended.
  horizon xid8 := pg_snapshot_xmin(pg_current_snapshot());
  after_id bigint;
  gaps jsonb;
  newest bigint;
  seen bigint[];
  late jsonb := '[]';
  fresh jsonb := '[]';
  kept jsonb := '[]';
  bound text;
begin
  perform public.job_check_argument(max_rows between 1 and 1000, 'max_rows must be between 1 and 1000');
  perform public.job_check_argument(pg_current_xact_id_if_assigned() is null,
    'follow_job_events must run in a transaction that has not written');
  if cursor is null then
    newest := coalesce(pg_sequence_last_value(pg_get_serial_sequence('public.job_events', 'id')::regclass), 0);
    execute format('select coalesce(array_agg(e.id), ''{}'') from public.job_events e where e.id > %s and e.id <= %s',
                   greatest(newest - 1000, 0), newest) into seen;
    -- Drawn after that read: above the xid of every transaction that drew an id read there.
    bound := pg_current_xact_id()::text;
    select coalesce(jsonb_agg(jsonb_build_array(g.gap_from, g.gap_to, bound) order by g.gap_from), '[]') into kept
    from public.job_event_gaps(seen, greatest(newest - 1000, 0), newest + 1) g;
    return jsonb_build_object('events', '[]'::jsonb, 'cursor', jsonb_build_object('after', newest, 'gaps', kept), 'more', false);
  end if;

  begin
    after_id := (cursor ->> 'after')::bigint;
    gaps := (select coalesce(jsonb_agg(jsonb_build_array((g ->> 0)::bigint, (g ->> 1)::bigint, (g ->> 2)::xid8::text)), '[]')
             from jsonb_array_elements(cursor -> 'gaps') g);
  exception when others then
    after_id := null;
  end;
  perform public.job_check_argument(after_id is not null and gaps is not null, 'cursor is not a cursor that follow_job_events returned');

  -- Late events: the gaps of earlier looks, filled since.
  if jsonb_array_length(gaps) > 0 then
    execute format('select coalesce(jsonb_agg(to_jsonb(e) order by e.id), ''[]''), coalesce(array_agg(e.id), ''{}'')
                    from public.job_events e where %s',
                   (select string_agg(format('e.id between %s and %s', g ->> 0, g ->> 1), ' or ') from jsonb_array_elements(gaps) g))
      into late, seen;
    -- What is still missing of each gap, while a transaction that could fill it may be running.
    select coalesce(jsonb_agg(jsonb_build_array(m.gap_from, m.gap_to, g ->> 2) order by m.gap_from), '[]') into kept
    from jsonb_array_elements(gaps) g
    cross join lateral public.job_event_gaps(seen, (g ->> 0)::bigint - 1, (g ->> 1)::bigint + 1) m
    where (g ->> 2)::xid8 > horizon;
  end if;

  -- New events, oldest first.
  execute format('select coalesce(jsonb_agg(to_jsonb(x) order by x.id), ''[]''), coalesce(array_agg(x.id order by x.id), ''{}'')
                  from (select * from public.job_events e where e.id > %s order by e.id limit %s) x', after_id, max_rows)
    into fresh, seen;
  if cardinality(seen) > 0 then
    if seen[cardinality(seen)] - after_id > cardinality(seen) then
      -- Ids skipped below the newest seen: drawn after the read above, this xid bounds them.
      bound := pg_current_xact_id()::text;
      kept := kept || (select jsonb_agg(jsonb_build_array(g.gap_from, g.gap_to, bound) order by g.gap_from)
                       from public.job_event_gaps(seen, after_id, seen[cardinality(seen)]) g);
    end if;
    after_id := seen[cardinality(seen)];
  end if;
  if jsonb_array_length(kept) > 1000 then
    kept := (select jsonb_agg(k order by (k ->> 0)::bigint)
             from (select k from jsonb_array_elements(kept) k order by (k ->> 0)::bigint desc limit 1000) newest_gaps);
  end if;
  return jsonb_build_object('events', late || fresh,
                            'cursor', jsonb_build_object('after', after_id, 'gaps', kept),
                            'more', cardinality(seen) = max_rows);
end
$$;

select public.job_grant_to_service_role_only(array['public.job_event_gaps(bigint[], bigint, bigint)', 'public.follow_job_events(jsonb, integer)']);

notify pgrst, 'reload schema';
