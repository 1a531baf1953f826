{#- Whether NREL's best-point epochs count from 0 or 1, detected from the data,
    never assumed (one row). Over the experiments whose runs are all present
    and agree with it (int_best_point_checks), NREL's smallest and largest best
    epoch of each metric (`<metric>_<min|max>_epoch_min`, `_max`) is compared
    with the warehouse's own from the runs (1-based) read at base 0 (NREL's + 1)
    and at base 1 (as stored), within 1e-3. An experiment agrees at a base when
    every metric compared on it agrees; the base is the one more experiments
    agree at; NULL (unknown) when no experiment can be compared or the counts
    tie. -#}
with

checks as (
    select * from {{ ref('int_best_point_checks') }}
),

extreme_epochs as (
    select
        experiment_id,
        abs(nrel_value + 1 - runs_value) <= 1e-3 as agrees_at_base_0,
        abs(nrel_value - runs_value) <= 1e-3 as agrees_at_base_1
    from checks
    where
        part = 'epoch'
        and stat in ('min', 'max')
        and runs_value is not null
),

experiments as (
    select
        experiment_id,
        bool_and(agrees_at_base_0) as agrees_at_base_0,
        bool_and(agrees_at_base_1) as agrees_at_base_1
    from extreme_epochs
    group by experiment_id
),

counts as (
    select
        count(*) as experiments_compared,
        count(case when agrees_at_base_0 then 1 end) as experiments_agreeing_at_base_0,
        count(case when agrees_at_base_1 then 1 end) as experiments_agreeing_at_base_1
    from experiments
),

final as (
    select
        cast(case
            when experiments_agreeing_at_base_0 > experiments_agreeing_at_base_1 then 0
            when experiments_agreeing_at_base_1 > experiments_agreeing_at_base_0 then 1
        end as integer) as epoch_base,
        experiments_compared,
        experiments_agreeing_at_base_0,
        experiments_agreeing_at_base_1,
        experiments_compared - experiments_agreeing_at_base_0 - experiments_agreeing_at_base_1
            as experiments_agreeing_at_neither
    from counts
)

select * from final
