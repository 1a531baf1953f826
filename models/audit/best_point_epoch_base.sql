{#- Which epoch base NREL's best-point columns use, as detected from the data
    (int_best_point_epoch_base: the rule and the counts), and what the marts
    did with it: one row. The note has no apostrophe: Spark reads 'a''b' as
    two adjacent literals ('ab'), DuckDB as a'b. -#}
with

epoch_base as (
    select * from {{ ref('int_best_point_epoch_base') }}
),

final as (
    select
        epoch_base,
        experiments_compared,
        experiments_agreeing_at_base_0,
        experiments_agreeing_at_base_1,
        experiments_agreeing_at_neither,
        case
            when epoch_base = 0
                then
                    'NREL counts its best-point epochs from 0: '
                    || cast(experiments_agreeing_at_base_0 as string) || ' of '
                    || cast(experiments_compared as string)
                    || ' comparable experiments agree with their runs at base 0, '
                    || cast(experiments_agreeing_at_base_1 as string)
                    || ' at base 1; marts.experiment_best_epochs publishes them + 1 (1-based)'
            when epoch_base = 1
                then
                    'NREL counts its best-point epochs from 1: '
                    || cast(experiments_agreeing_at_base_1 as string) || ' of '
                    || cast(experiments_compared as string)
                    || ' comparable experiments agree with their runs at base 1, '
                    || cast(experiments_agreeing_at_base_0 as string)
                    || ' at base 0; marts.experiment_best_epochs publishes them as stored'
            when experiments_compared = 0
                then
                    'unknown: no experiment with best-point epochs published by NREL has all its runs present and'
                    || ' agreeing with it; marts.experiment_best_epochs publishes the epochs NREL stored as they are'
                    || ' (nrel_epoch_base NULL) and none is checked against the runs'
            else
                'unknown: ' || cast(experiments_compared as string)
                || ' comparable experiments, as many agreeing at base 0 as at base 1 ('
                || cast(experiments_agreeing_at_base_0 as string)
                || '); marts.experiment_best_epochs publishes the epochs NREL stored as they are'
                || ' (nrel_epoch_base NULL) and none is checked against the runs'
        end as note
    from epoch_base
)

select * from final
