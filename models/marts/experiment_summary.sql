{%- set attributes = butter_hyperparameters() + butter_sweep_flags() -%}

with

experiments as (
    select
        experiment_id,
        {%- for column in attributes %}
            {{ column }},
        {%- endfor %}
        num_runs,
        test_loss_median
    from {{ ref('int_experiments_deduplicated') }}
),

run_copies as (
    select
        {%- for column in attributes %}
            {{ column }},
        {%- endfor %}
        experiment_id
    from {{ ref('int_run_copies_unioned') }}
),

runs_located as (
    select * from {{ ref('int_runs_located') }}
),

datasets as (
    select
        dataset,
        task_type
    from {{ ref('butter_datasets') }}
),

run_counts as (
    select
        experiment_id,
        count(*) as runs_found
    from runs_located
    group by experiment_id
),

summary_curves as (
    select
        *,
        {{ butter_list_min(butter_list_finite('test_loss_median')) }} as best_test_loss_median,
        {{ butter_list_element('test_loss_median', butter_array_length('test_loss_median')) }}
            as last_test_loss_median
    from experiments
),

published_experiments as (
    select
        experiment_id,
        {%- for column in attributes %}
            {{ column }},
        {%- endfor %}
        num_runs,
        true as has_published_summary,
        {{ butter_finite_or_null('last_test_loss_median') }} as final_test_loss_median,
        best_test_loss_median,
        cast({{ butter_list_position('test_loss_median', 'best_test_loss_median') }} as integer)
            as best_test_loss_median_epoch
    from summary_curves
),

{# Experiments present in the run data but in no summary folder: kept, with
    their attributes from their runs and no published figures. -#}
run_only_experiments as (
    select
        experiment_id,
        {%- for column in attributes %}
            {{ butter_any_value(column) }} as {{ column }},
        {%- endfor %}
        cast(null as utinyint) as num_runs,
        false as has_published_summary,
        cast(null as float) as final_test_loss_median,
        cast(null as float) as best_test_loss_median,
        cast(null as integer) as best_test_loss_median_epoch
    from run_copies
    where experiment_id not in (select published_experiments.experiment_id from published_experiments)
    group by experiment_id
),

all_experiments as (
    select * from published_experiments
    union all
    select * from run_only_experiments
),

final as (
    select
        all_experiments.*,
        datasets.task_type,
        coalesce(run_counts.runs_found, 0) as runs_found,
        all_experiments.num_runs - coalesce(run_counts.runs_found, 0) as runs_missing
    from all_experiments
    left join run_counts
        on all_experiments.experiment_id = run_counts.experiment_id
    left join datasets
        on all_experiments.dataset = datasets.dataset
)

select * from final
