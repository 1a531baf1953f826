{#- NREL's published best-point statistics next to the warehouse's own from
    the runs, one row per (experiment, NREL statistic) where NREL published a
    value, over the experiments whose runs are all present and agree with it
    (int_experiment_best_points.has_all_runs): the only experiments on which
    the two must be equal. NREL's epochs as stored (base not applied); the
    epoch base (int_best_point_epoch_base) and the reconciliation
    (audit.source_reconciliation, experiment_best_point_disagrees_with_runs)
    read this. -#}
with

best_points as (
    select * from {{ ref('int_experiment_best_points') }}
    where has_all_runs
),

checks as (
    {%- for statistic in butter_best_point_statistics() %}
        select
            experiment_id,
            '{{ statistic.metric }}' as metric,
            '{{ statistic.part }}' as part,
            '{{ statistic.stat }}' as stat,
            '{{ statistic.nrel_source }}' as nrel_column,
            cast({{ statistic.nrel }} as double) as nrel_value,
            cast({{ statistic.warehouse }} as double) as runs_value
        from best_points
        where {{ statistic.nrel }} is not null
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

final as (
    select * from checks
)

select * from final
