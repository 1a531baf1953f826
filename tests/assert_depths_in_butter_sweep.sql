{#- Copies of runs and experiments, in any published folder, whose depth is not
    one of the 14 depths of the BUTTER study (2..10, 12, 14, 16, 18, 20; see the
    data contract). Depth is a hive partition value, so this reads only the
    cheap copy models. NULL passes (not_null tests on the marts cover it).
    One row per offending copy, naming its folder. -#}
{%- set butter_depths = [2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 16, 18, 20] -%}

with

run_copies as (
    select * from {{ ref('int_run_copies_unioned') }}
),

experiment_copies as (
    select * from {{ ref('int_experiment_copies_unioned') }}
),

copies as (
    select
        'run' as entity,
        run_id as entity_id,
        experiment_id,
        source_folder,
        depth
    from run_copies

    union all

    select
        'experiment' as entity,
        cast(experiment_id as varchar) as entity_id,
        experiment_id,
        source_folder,
        depth
    from experiment_copies
),

outside_sweep as (
    select *
    from copies
    where depth not in ({{ butter_depths | join(', ') }})
)

select * from outside_sweep
