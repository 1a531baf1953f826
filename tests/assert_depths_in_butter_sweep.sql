{#- Copies of runs and experiments, in any published folder, whose depth is not
    one of the depths of the BUTTER study (seeds.butter_depths, the one source
    of that list). Depth is a hive partition value, so this reads only the
    cheap copy models. NULL passes (not_null tests on the marts cover it).
    One row per offending copy, naming its folder. -#}

with

run_copies as (
    select * from {{ ref('int_run_copies_unioned') }}
),

experiment_copies as (
    select * from {{ ref('int_experiment_copies_unioned') }}
),

butter_depths as (
    select depth from {{ ref('butter_depths') }}
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
        cast(experiment_id as string) as entity_id,
        experiment_id,
        source_folder,
        depth
    from experiment_copies
),

outside_sweep as (
    select *
    from copies
    where depth not in (select butter_depths.depth from butter_depths)
)

select * from outside_sweep
