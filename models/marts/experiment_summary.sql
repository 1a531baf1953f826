{#- Figures read off the published per-epoch median curves (naming rule:
    prefixed `median_curve_`): for each curve of butter_median_curves its best
    point (minimum of a loss, maximum of an accuracy, over finite values,
    earliest epoch on ties) and its final point (NULL when not finite). They
    are those of the copy the experiment is read from (int_experiments_deduplicated:
    its key, folder and file), computed in the one pass over each file's arrays
    that the decode store makes (int_experiment_copies_unioned, macro
    butter_copies_unioned): a build that decodes no file reads no array here. -#}
{%- set attributes = butter_hyperparameters() + butter_sweep_flags() -%}
{%- set curves = butter_median_curves() -%}

with

experiments as (
    select
        experiment_id,
        {%- for column in attributes %}
            {{ column }},
        {%- endfor %}
        num_runs,
        source_folder,
        source_file
    from {{ ref('int_experiments_deduplicated') }}
),

experiment_copies as (
    select
        {%- for curve in curves %}
            median_curve_best_{{ curve.metric }},
            median_curve_best_{{ curve.metric }}_epoch,
            median_curve_final_{{ curve.metric }},
        {%- endfor %}
        experiment_id,
        source_folder,
        source_file
    from {{ ref('int_experiment_copies_unioned') }}
),

experiments_located as (
    select experiment_id from {{ ref('int_experiments_located') }}
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

run_best_epochs as (
    select
        run_id,
        experiment_id,
        momentum
    from {{ ref('run_best_epochs') }}
),

{# Runs whose hyperparameters differ from their experiment's: not counted in runs_found. #}
other_runs as (
    select * from {{ ref('int_runs_disagreeing_with_experiment') }}
),

{# The experiment's momentum: the value most of its runs' commands hold (the
    smaller on a tie), over the runs aggregated into it; NULL when no run
    carries one (adam, a command without it, or no runs). -#}
run_momenta as (
    select
        experiment_id,
        momentum,
        count(*) as runs_with_momentum
    from run_best_epochs
    where
        momentum is not null
        and run_id not in (
            select other_runs.run_id from other_runs
        )
    group by experiment_id, momentum
),

ranked_momenta as (
    select
        experiment_id,
        momentum,
        row_number() over (
            partition by experiment_id
            order by runs_with_momentum desc, momentum asc
        ) as momentum_rank
    from run_momenta
),

experiment_momenta as (
    select
        experiment_id,
        momentum
    from ranked_momenta
    where momentum_rank = 1
),

run_counts as (
    select
        experiment_id,
        count(*) as runs_found
    from runs_located
    where
        run_id is null
        or run_id not in (
            select other_runs.run_id from other_runs
        )
    group by experiment_id
),

curve_points as (
    select
        {%- for curve in curves %}
            experiment_copies.median_curve_best_{{ curve.metric }},
            experiment_copies.median_curve_best_{{ curve.metric }}_epoch,
            experiment_copies.median_curve_final_{{ curve.metric }},
        {%- endfor %}
        experiments.*
    from experiments
    inner join experiment_copies
        on
            experiments.experiment_id = experiment_copies.experiment_id
            and experiments.source_folder = experiment_copies.source_folder
            and experiments.source_file = experiment_copies.source_file
),

published_experiments as (
    select
        {{ butter_mart_value('experiment_id') }} as experiment_id,
        {%- for column in butter_hyperparameters() %}
            {{ butter_mart_value(column) }} as {{ column }},
        {%- endfor %}
        {%- for column in butter_sweep_flags() %}
            {{ column }},
        {%- endfor %}
        {{ butter_mart_value('num_runs') }} as num_runs,
        {%- for curve in curves %}
            median_curve_best_{{ curve.metric }},
            median_curve_best_{{ curve.metric }}_epoch,
            median_curve_final_{{ curve.metric }},
        {%- endfor %}
        true as has_published_summary
    from curve_points
),

{# Experiments present in the run data but in no summary folder: kept, with
    their attributes from their runs and no published figures. -#}
run_only_experiments as (
    select
        {{ butter_mart_value('experiment_id') }} as experiment_id,
        {%- for column in butter_hyperparameters() %}
            {{ butter_mart_value(column, butter_any_value(column)) }} as {{ column }},
        {%- endfor %}
        {%- for column in butter_sweep_flags() %}
            {{ butter_any_value(column) }} as {{ column }},
        {%- endfor %}
        cast(null as integer) as num_runs,
        {%- for curve in curves %}
            cast(null as float) as median_curve_best_{{ curve.metric }},
            cast(null as integer) as median_curve_best_{{ curve.metric }}_epoch,
            cast(null as float) as median_curve_final_{{ curve.metric }},
        {%- endfor %}
        false as has_published_summary
    from run_copies
    where experiment_id not in (select experiments_located.experiment_id from experiments_located)
    group by experiment_id
),

all_experiments as (
    select * from published_experiments
    union all
    select * from run_only_experiments
),

final as (
    select  -- noqa: ST06
        all_experiments.*,
        datasets.task_type,
        coalesce(run_counts.runs_found, 0) as runs_found,
        all_experiments.num_runs - coalesce(run_counts.runs_found, 0) as runs_missing,
        experiment_momenta.momentum
    from all_experiments
    left join run_counts
        on all_experiments.experiment_id = run_counts.experiment_id
    left join experiment_momenta
        on all_experiments.experiment_id = experiment_momenta.experiment_id
    left join datasets
        on all_experiments.dataset = datasets.dataset
)

select * from final
